/** The bench's outputs: a text table, the Markdown page and SVG line plots. */

export interface Figure {
  figure: string
  value: string
  baseline: string
  /** The ratio the target is stated in, or null when the figure has none. */
  ratio: number | null
  target: string
  met: boolean | null
  /** Formula of the ratio, e.g. "baseline time / gateway time". */
  ratioOf: string
}

export interface Series {
  name: string
  points: Array<{ x: number; y: number }>
  dashed?: boolean
}

const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b']

function formatRatio(figure: Figure): string {
  return figure.ratio === null ? '' : `${figure.ratio.toFixed(2)}`
}

function formatMet(figure: Figure): string {
  if (figure.met === null) {
    return ''
  }

  return figure.met ? 'met' : 'not met'
}

export function formatTable(figures: Figure[]): string {
  const rows = figures.map((figure) => [
    figure.figure,
    figure.value,
    figure.baseline,
    formatRatio(figure),
    figure.target,
    formatMet(figure),
  ])
  const header = ['figure', 'value', 'baseline', 'ratio', 'target', 'result']
  const widths = header.map((name, column) => Math.max(name.length, ...rows.map((row) => row[column].length)))
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column])).join('  ')

  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n')
}

export function formatMarkdownTable(figures: Figure[]): string {
  const escape = (text: string) => text.replaceAll('|', '\\|')
  const rows = figures.map(
    (figure) =>
      `| ${escape(figure.figure)} | ${escape(figure.value)} | ${escape(figure.baseline)} | ${formatRatio(figure)} | ${escape(figure.ratioOf)} | ${escape(figure.target)} | ${formatMet(figure)} |`,
  )

  return [
    '| figure | value | baseline | ratio | ratio of | target | result |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n')
}

function niceMaximum(value: number): number {
  if (value <= 0) {
    return 1
  }
  const magnitude = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * magnitude >= value) {
      return step * magnitude
    }
  }

  return 10 * magnitude
}

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
}

/** Draws a line plot of each series, with axes from 0 and a legend. */
export function renderLinePlot(options: { title: string; xLabel: string; yLabel: string; series: Series[] }): string {
  const width = 640
  const height = 400
  const margin = { left: 64, right: 180, top: 40, bottom: 52 }
  const plotWidth = width - margin.left - margin.right
  const plotHeight = height - margin.top - margin.bottom
  const all = options.series.flatMap((series) => series.points)
  const xMax = niceMaximum(Math.max(...all.map((point) => point.x)))
  const yMax = niceMaximum(Math.max(...all.map((point) => point.y)) * 1.05)
  const toX = (x: number) => margin.left + (x / xMax) * plotWidth
  const toY = (y: number) => margin.top + plotHeight - (y / yMax) * plotHeight

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(options.title)}</text>`,
  ]
  for (let tick = 0; tick <= 5; tick += 1) {
    const xValue = (xMax * tick) / 5
    const yValue = (yMax * tick) / 5
    parts.push(
      `<line x1="${toX(0)}" x2="${toX(xMax)}" y1="${toY(yValue)}" y2="${toY(yValue)}" stroke="#ddd"/>`,
      `<text x="${margin.left - 6}" y="${toY(yValue) + 4}" text-anchor="end">${Number(yValue.toPrecision(3))}</text>`,
      `<text x="${toX(xValue)}" y="${margin.top + plotHeight + 18}" text-anchor="middle">${Number(xValue.toPrecision(3))}</text>`,
    )
  }
  parts.push(
    `<line x1="${toX(0)}" x2="${toX(0)}" y1="${toY(0)}" y2="${toY(yMax)}" stroke="black"/>`,
    `<line x1="${toX(0)}" x2="${toX(xMax)}" y1="${toY(0)}" y2="${toY(0)}" stroke="black"/>`,
    `<text x="${margin.left + plotWidth / 2}" y="${height - 12}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text transform="translate(16 ${margin.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
  )
  options.series.forEach((series, index) => {
    const colour = COLOURS[index % COLOURS.length]
    const points = [...series.points].sort((a, b) => a.x - b.x)
    const path = points.map((point) => `${toX(point.x).toFixed(1)},${toY(point.y).toFixed(1)}`).join(' ')
    const dash = series.dashed ? ' stroke-dasharray="6 4"' : ''
    parts.push(`<polyline points="${path}" fill="none" stroke="${colour}" stroke-width="2"${dash}/>`)
    for (const point of points) {
      parts.push(`<circle cx="${toX(point.x).toFixed(1)}" cy="${toY(point.y).toFixed(1)}" r="3" fill="${colour}"/>`)
    }
    const legendY = margin.top + 10 + index * 20
    const legendX = width - margin.right + 16
    parts.push(
      `<line x1="${legendX}" x2="${legendX + 24}" y1="${legendY}" y2="${legendY}" stroke="${colour}" stroke-width="2"${dash}/>`,
      `<text x="${legendX + 30}" y="${legendY + 4}">${escapeXml(series.name)}</text>`,
    )
  })
  parts.push('</svg>')

  return `${parts.join('\n')}\n`
}

export function median(values: number[]): number {
  if (values.length === 0) {
    return Number.NaN
  }
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)

  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}
