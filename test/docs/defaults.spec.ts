/**
 * A default is written once, in the option table of its service, and everything that states it is held to that:
 * the `@default` tag of every option (read from the sources with the TypeScript parser; typedoc builds the API
 * docs from them) must state the row's default, and the tables of docs/configuration.md must be the ones the
 * option tables make (what each option accepts, its default, its line of docs), the command's flags included.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'aegir/chai'
import ts from 'typescript'
import { CLIENT_OPTIONS } from '../../src/client/config.ts'
import { DISCOVERY_DEFAULTS, DISCOVERY_OPTIONS, QUOTA_OPTIONS, TAG_OPTIONS, USER_NAMESPACE_OPTIONS } from '../../src/discovery/config.ts'
import { TAG_NAMES } from '../../src/discovery/constants.ts'
import { defaultTag } from '../../src/options/option-table.ts'
import { SERVER_OPTIONS } from '../../src/server/config.ts'
import { MEMORY_STORE_OPTIONS } from '../../src/server/store/memory-store-options.ts'
import { POSTGRES_STORE_OPTIONS } from '../../src/server/store/postgres-store-options.ts'
import { commandTable, serviceTable } from './option-docs.ts'
import type { OptionRow, OptionTable } from '../../src/options/option-table.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CONFIGURATION = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8')
const README = readFileSync(join(ROOT, 'README.md'), 'utf8')

interface OptionSet {
  /** The interface that declares the options, and its file */
  file: string
  name: string
  table: OptionTable<any, any>
  /** The heading of docs/configuration.md whose first table lists them, when they have one */
  heading?: string
}

const OPTION_SETS: OptionSet[] = [
  { file: 'src/server/options.ts', name: 'RendezvousServerInit', table: SERVER_OPTIONS, heading: 'Server options (`rendezvousServer(init)`)' },
  { file: 'src/server/store/memory-store-options.ts', name: 'MemoryRegistrationStoreInit', table: MEMORY_STORE_OPTIONS, heading: 'Memory store options (`memoryRegistrationStore(init)`)' },
  { file: 'src/server/store/postgres-store-options.ts', name: 'PostgresRegistrationStoreInit', table: POSTGRES_STORE_OPTIONS, heading: 'PostgreSQL store options (`postgresRegistrationStore(init)`)' },
  { file: 'src/client/types.ts', name: 'RendezvousClientInit', table: CLIENT_OPTIONS, heading: 'Client options (`rendezvousClient(init)`)' },
  { file: 'src/discovery/options.ts', name: 'RendezvousDiscoveryInit', table: DISCOVERY_OPTIONS, heading: 'Discovery options (`rendezvousDiscovery(init)`)' },
  { file: 'src/discovery/options.ts', name: 'QuotaInit', table: QUOTA_OPTIONS },
  { file: 'src/discovery/options.ts', name: 'TagInit', table: TAG_OPTIONS },
  { file: 'src/discovery/options.ts', name: 'UserNamespace', table: USER_NAMESPACE_OPTIONS }
]

/** Each option of an interface and the text of its `@default` tag ('required' for a required one; undefined when it has none) */
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

/** The lines of the first table under `heading` of docs/configuration.md (or of `text`) */
function tableLines (heading: string, text = CONFIGURATION): string[] {
  const start = text.indexOf(`\n## ${heading}\n`)
  if (start < 0) {
    throw new Error(`no heading "## ${heading}"`)
  }
  const lines = text.slice(start).split('\n').slice(2)
  const first = lines.findIndex(line => line.startsWith('|'))
  const end = lines.findIndex((line, i) => i > first && !line.startsWith('|'))
  return lines.slice(first, end)
}

describe('defaults in one place: the option tables', () => {
  for (const { file, name, table, heading } of OPTION_SETS) {
    describe(name, () => {
      it('every option has a @default tag that states the default of its row, and a row', () => {
        const declared = declaredOptions(file, name)
        const rows = table.rows as Record<string, OptionRow<unknown>>
        const problems: string[] = []

        for (const [option, stated] of declared) {
          const row = rows[option]

          if (row == null) {
            problems.push(`${option}: an option of ${name}, but no row of its table`)
          } else if (stated == null) {
            problems.push(`${option}: no @default tag`)
          } else if (stated !== defaultTag(row)) {
            problems.push(`${option}: @default ${stated}, but its row says ${defaultTag(row)}`)
          }
        }
        for (const option of Object.keys(rows)) {
          if (!declared.has(option)) {
            problems.push(`${option}: a row, but not an option of ${name}`)
          }
        }

        expect(problems).to.deep.equal([])
      })

      if (heading != null) {
        it('docs/configuration.md has the table its option table makes', () => {
          expect(tableLines(heading), `the table under "## ${heading}" should be:\n${serviceTable(table).join('\n')}\n`).to.deep.equal(serviceTable(table))
        })
      }
    })
  }

  it('docs/configuration.md lists every flag of rendezvous-server once, as --help does', () => {
    expect(tableLines('The `rendezvous-server` command'), `the command's table should be:\n${commandTable().join('\n')}\n`).to.deep.equal(commandTable())
  })

  it('the README\'s namespace and tag tables state the discovery module\'s default quotas and tag values', () => {
    const quotas = tableLines('Namespaces', README).slice(2).map(line => /`quotas\.(\w+)`,? \(?(\d+)\)?/.exec(line)).filter(match => match != null)
    const kinds = ['topic', 'relay', 'dapp', 'namespace'] as const
    expect(quotas.map(([, kind, value]) => [kind, Number(value)])).to.deep.equal(kinds.map(kind => [kind, DISCOVERY_DEFAULTS.quotas[kind]]))

    const option = { topic: 'topic', relay: 'relay', dapp: 'dapp', user: 'namespace', point: 'point' } as const
    const tags = tableLines('Quotas and tags', README).slice(2).map(line => line.split('|').map(cell => cell.trim()))
    for (const [kind, name] of Object.entries(TAG_NAMES) as Array<[keyof typeof option, string]>) {
      const row = tags.find(cells => cells[1] === `\`${name}\``)
      expect(Number(row?.[2]), name).to.equal(DISCOVERY_DEFAULTS.tags[option[kind]])
    }
  })
})
