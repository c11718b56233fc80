/**
 * A default is written once, in src/defaults.ts, and everything that states it is held to that: the `@default` tag
 * of every option (read from the sources with the TypeScript parser), the tables of docs/configuration.md (one row
 * per option, none missing, none left over), and for the command its flags' table against what `--help` prints.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'aegir/chai'
import ts from 'typescript'
import { OPTIONS } from '../../src/cli/options.ts'
import { CLIENT_DEFAULTS, DISCOVERY_DEFAULTS, formatDefault, MEMORY_STORE_DEFAULTS, POSTGRES_STORE_DEFAULTS, SERVER_DEFAULTS } from '../../src/defaults.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CONFIGURATION = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8')

interface OptionSet {
  /** The interface that declares the options, and its file */
  file: string
  name: string
  defaults: Readonly<Record<string, unknown>>
  /** The heading of docs/configuration.md whose first table lists them, when they have one */
  heading?: string
}

const OPTION_SETS: OptionSet[] = [
  { file: 'src/server/options.ts', name: 'RendezvousServerInit', defaults: SERVER_DEFAULTS, heading: 'Server options (`rendezvousServer(init)`)' },
  { file: 'src/server/store/memory-registration-store.ts', name: 'MemoryRegistrationStoreInit', defaults: MEMORY_STORE_DEFAULTS, heading: 'Memory store options (`memoryRegistrationStore(init)`)' },
  { file: 'src/server/store/postgres-store.ts', name: 'PostgresRegistrationStoreInit', defaults: POSTGRES_STORE_DEFAULTS, heading: 'PostgreSQL store options (`postgresRegistrationStore(init)`)' },
  { file: 'src/client/types.ts', name: 'RendezvousClientInit', defaults: CLIENT_DEFAULTS, heading: 'Client options (`rendezvousClient(init)`)' },
  { file: 'src/discovery/options.ts', name: 'RendezvousDiscoveryInit', defaults: DISCOVERY_DEFAULTS, heading: 'Discovery options (`rendezvousDiscovery(init)`)' },
  { file: 'src/discovery/options.ts', name: 'QuotaInit', defaults: DISCOVERY_DEFAULTS.quotas },
  { file: 'src/discovery/options.ts', name: 'TagInit', defaults: DISCOVERY_DEFAULTS.tags }
]

/** Each option of an interface and the text of its `@default` tag (undefined when it has none) */
function declaredOptions (file: string, name: string): Map<string, string | undefined> {
  const source = ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true)
  const options = new Map<string, string | undefined>()

  const visit = (node: ts.Node): void => {
    if (ts.isInterfaceDeclaration(node) && node.name.text === name) {
      for (const member of node.members) {
        if (member.name == null) {
          continue
        }
        const tag = ts.getJSDocTags(member).find(tag => tag.tagName.text === 'default')
        let text = tag == null ? undefined : ts.getTextOfJSDocComment(tag.comment)?.trim() ?? ''

        if (member.questionToken == null) {
          // a required option has no default to state
          text = 'required'
        }
        options.set(member.name.getText(source), text)
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(source)

  if (options.size === 0) {
    throw new Error(`no interface ${name} with members in ${file}`)
  }
  return options
}

/** The rows of the first table under `heading`: the first cell's code span, and the second cell */
function tableRows (heading: string): Map<string, string> {
  const start = CONFIGURATION.indexOf(`\n## ${heading}\n`)
  if (start < 0) {
    throw new Error(`docs/configuration.md has no heading "## ${heading}"`)
  }
  const lines = CONFIGURATION.slice(start).split('\n').slice(2)
  const first = lines.findIndex(line => line.startsWith('|'))
  const rows = new Map<string, string>()

  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) {
      break
    }
    // a \| inside a cell is a literal bar
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map(cell => cell.trim())
    rows.set(/^`([^`]+)`/.exec(cells[0])?.[1] ?? cells[0], cells[1])
  }
  return rows
}

/** Whether a stated default begins with the value, bare or as code */
function states (text: string, value: unknown): boolean {
  const expected = formatDefault(value)
  return text === expected || text.startsWith(`${expected} `) || text.startsWith(`\`${expected}\``)
}

describe('defaults in one place', () => {
  for (const { file, name, defaults, heading } of OPTION_SETS) {
    describe(name, () => {
      it('every option has a @default tag, which states the value of src/defaults.ts', () => {
        const declared = declaredOptions(file, name)
        const problems: string[] = []

        for (const [option, stated] of declared) {
          if (stated == null) {
            problems.push(`${option}: no @default tag`)
          } else if (option in defaults && !states(stated, defaults[option])) {
            problems.push(`${option}: @default ${stated}, but src/defaults.ts has ${formatDefault(defaults[option])}`)
          }
        }
        for (const option of Object.keys(defaults)) {
          if (!declared.has(option)) {
            problems.push(`${option}: in src/defaults.ts but not an option of ${name}`)
          }
        }

        expect(problems).to.deep.equal([])
      })

      if (heading != null) {
        it('docs/configuration.md lists every option once, with the default of src/defaults.ts', () => {
          const declared = [...declaredOptions(file, name).keys()]
          const rows = tableRows(heading)
          const problems: string[] = []

          for (const option of declared) {
            if (!rows.has(option)) {
              problems.push(`${option}: no row`)
            }
          }
          for (const [option, stated] of rows) {
            if (!declared.includes(option)) {
              problems.push(`${option}: a row, but not an option of ${name}`)
            } else if (option in defaults && !states(stated, defaults[option])) {
              problems.push(`${option}: the table says ${stated}, src/defaults.ts has ${formatDefault(defaults[option])}`)
            }
          }

          expect(problems).to.deep.equal([])
        })
      }
    })
  }

  it('docs/configuration.md lists every flag of rendezvous-server once, with the default --help prints', () => {
    const rows = tableRows('The `rendezvous-server` command')
    const problems: string[] = []
    const flags = new Map(OPTIONS.map(option => [option.flag, option]))

    for (const [cell, stated] of rows) {
      const flag = /^--([a-z-]+)/.exec(cell)?.[1] ?? cell
      const option = flags.get(flag)

      if (option == null) {
        problems.push(`--${flag}: a row, but the command has no such flag`)
        continue
      }
      flags.delete(flag)
      const expected = option.defaultText == null ? 'none' : `\`${option.defaultText}\``

      if (stated !== expected && !stated.startsWith(`${expected} `)) {
        problems.push(`--${flag}: the table says ${stated}, --help says ${expected}`)
      }
    }
    for (const flag of flags.keys()) {
      problems.push(`--${flag}: no row`)
    }

    expect(problems).to.deep.equal([])
  })
})
