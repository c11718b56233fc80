/**
 * The README, `docs/` and `benchmarks/README.md` link to each other: every relative link must reach a file that
 * exists and every `#anchor` a heading of its target, or a reader lands on a 404 after a section is renamed. The
 * README is also the package's page on the registry, where relative links break (the package has no repository
 * URL to resolve them against), so it names the documents by path instead and holds only absolute links and
 * in-page anchors.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'aegir/chai'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const README = join(ROOT, 'README.md')
const DOCS = join(ROOT, 'docs')
const DOCUMENTS = [
  README,
  join(ROOT, 'benchmarks/README.md'),
  ...readdirSync(DOCS).filter(name => name.endsWith('.md')).map(name => join(DOCS, name))
]

interface Link {
  target: string
  line: number
}

/** The text outside fenced code blocks, line by line (blank lines keep the line numbers) */
function proseLines (markdown: string): string[] {
  let fenced = false
  return markdown.split('\n').map(line => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced
      return ''
    }
    return fenced ? '' : line
  })
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered */
function anchorsOf (markdown: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()

  for (const line of proseLines(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
    if (heading == null) {
      continue
    }
    const base = heading[1]
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-')
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    anchors.add(count === 0 ? base : `${base}-${count}`)
  }
  return anchors
}

function linksOf (markdown: string): Link[] {
  const links: Link[] = []
  proseLines(markdown).forEach((line, index) => {
    // code spans are not links, but a link's text may hold one
    const text = line.replace(/`[^`]*`/g, '``')
    for (const match of text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      links.push({ target: match[1], line: index + 1 })
    }
  })
  return links
}

function isAbsolute (target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target)
}

describe('documentation links', () => {
  for (const file of DOCUMENTS) {
    const name = relative(ROOT, file)

    it(`every relative link and anchor in ${name} resolves`, () => {
      const broken: string[] = []

      for (const { target, line } of linksOf(readFileSync(file, 'utf8'))) {
        if (isAbsolute(target)) {
          continue
        }
        const [path, anchor] = target.split('#', 2)
        const resolved = path === '' ? file : join(dirname(file), decodeURIComponent(path))

        if (!existsSync(resolved)) {
          broken.push(`${name}:${line} ${target}: no such file`)
          continue
        }
        if (anchor != null && resolved.endsWith('.md') && !anchorsOf(readFileSync(resolved, 'utf8')).has(anchor)) {
          broken.push(`${name}:${line} ${target}: no such heading in ${relative(ROOT, resolved)}`)
        }
      }

      expect(broken).to.deep.equal([])
    })
  }

  it('the README has no relative link to another file, which would break on the registry page', () => {
    const relativeLinks = linksOf(readFileSync(README, 'utf8'))
      .filter(({ target }) => !isAbsolute(target) && !target.startsWith('#'))
      .map(({ target, line }) => `README.md:${line} ${target}`)

    expect(relativeLinks).to.deep.equal([])
  })

  it('the README names every document, and every document it names exists', () => {
    const readme = readFileSync(README, 'utf8')
    const named = [...readme.matchAll(/`((?:docs\/[\w.-]+|benchmarks\/README)\.md)`/g)].map(match => match[1])
    const documents = DOCUMENTS.filter(file => file !== README).map(file => relative(ROOT, file))

    expect(named.filter(path => !existsSync(join(ROOT, path)))).to.deep.equal([])
    expect(documents.filter(path => !named.includes(path))).to.deep.equal([])
  })
})
