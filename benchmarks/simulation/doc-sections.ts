/**
 * Generated sections of the docs: a benchmark that feeds a table into a markdown file writes it between two
 * markers, `<!-- name:start -->` and `<!-- name:end -->`, and leaves the rest of the file as it is, so that a
 * re-run on the code of the day updates the figures the prose sits around.
 */
import { readFile, writeFile } from 'node:fs/promises'

/** Replaces what lies between the markers of `name` in `path`; throws when the file has no such markers */
export async function writeSection (path: URL, name: string, body: string): Promise<void> {
  const text = await readFile(path, 'utf8')
  const start = `<!-- ${name}:start -->`
  const end = `<!-- ${name}:end -->`
  const from = text.indexOf(start)
  const to = text.indexOf(end)

  if (from < 0 || to < from) {
    throw new Error(`${path.pathname} has no section ${name} (${start} ... ${end})`)
  }

  await writeFile(path, `${text.slice(0, from + start.length)}\n${body.trim()}\n${text.slice(to)}`)
}
