import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'

export function readFixture(name: string): Buffer {
  return readFileSync(new URL(`../fixtures/${name}`, import.meta.url))
}

export function fixturePath(name: string): string {
  return new URL(`../fixtures/${name}`, import.meta.url).pathname
}

export function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** Every accepted fixture with the type a client declares and the type the gateway stores. */
export const ACCEPTED_FIXTURES: readonly { name: string; declared: string; stored: string }[] = [
  { name: 'fixture.png', declared: 'image/png', stored: 'image/png' },
  { name: 'fixture.jpg', declared: 'image/jpg', stored: 'image/jpeg' },
  { name: 'fixture.gif', declared: 'image/gif', stored: 'image/gif' },
  { name: 'fixture.webp', declared: 'image/webp', stored: 'image/webp' },
  { name: 'fixture.avif', declared: 'image/avif', stored: 'image/avif' },
  { name: 'fixture.tiff', declared: 'image/tiff', stored: 'image/tiff' },
  { name: 'fixture.bmp', declared: 'image/bmp', stored: 'image/bmp' },
  { name: 'fixture.svg', declared: 'image/svg+xml', stored: 'image/svg+xml' },
  { name: 'fixture-noxmldecl.svg', declared: 'image/svg+xml', stored: 'image/svg+xml' },
  { name: 'fixture.mp4', declared: 'video/mp4', stored: 'video/mp4' },
  { name: 'fixture.webm', declared: 'video/webm', stored: 'video/webm' },
  { name: 'fixture.mov', declared: 'video/quicktime', stored: 'video/quicktime' },
  { name: 'fixture.mkv', declared: 'video/x-matroska', stored: 'video/matroska' },
  { name: 'fixture.mp3', declared: 'audio/mp3', stored: 'audio/mpeg' },
  { name: 'fixture-noid3.mp3', declared: 'audio/mpeg', stored: 'audio/mpeg' },
  { name: 'fixture.wav', declared: 'audio/x-wav', stored: 'audio/wav' },
  { name: 'fixture.ogg', declared: 'audio/ogg', stored: 'audio/ogg' },
  { name: 'fixture.opus', declared: 'audio/opus', stored: 'audio/ogg' },
  { name: 'fixture.flac', declared: 'audio/flac', stored: 'audio/flac' },
  { name: 'fixture.m4a', declared: 'audio/x-m4a', stored: 'audio/mp4' },
  { name: 'fixture.pdf', declared: 'application/pdf', stored: 'application/pdf' },
  {
    name: 'fixture.docx',
    declared: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    stored: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  },
  {
    name: 'fixture.xlsx',
    declared: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    stored: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  },
  {
    name: 'fixture.pptx',
    declared: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
    stored: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  },
  {
    name: 'fixture.odt',
    declared: 'application/vnd.oasis.opendocument.text',
    stored: 'application/vnd.oasis.opendocument.text',
  },
  { name: 'fixture.txt', declared: 'text/plain; charset=utf-8', stored: 'text/plain' },
  { name: 'fixture-utf16.txt', declared: 'text/plain', stored: 'text/plain' },
  { name: 'fixture.csv', declared: 'text/csv', stored: 'text/csv' },
  { name: 'fixture.json', declared: 'application/json', stored: 'application/json' },
  { name: 'fixture.md', declared: 'text/markdown', stored: 'text/markdown' },
  { name: 'fixture-empty.txt', declared: 'text/plain', stored: 'text/plain' },
]
