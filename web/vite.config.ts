import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

// The gateway serves index.html at / and everything else under /demo/.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/demo/',
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
  },
})
