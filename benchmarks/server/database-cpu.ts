/**
 * The CPU a PostgreSQL server on this machine has used, read from /proc: every `postgres` process's own time, plus
 * the time of the backends that have already ended (the postmaster's reaped children). Taken before and after a
 * load, it gives the database's CPU per request, which decides with the servers' own how many requests a core
 * serves in all: on a machine with few cores that is the figure that says how a fleet would scale on more.
 *
 * It counts the whole database server, so anything else using it meanwhile is counted too; undefined where there
 * is no /proc or no local PostgreSQL.
 */
import { readdir, readFile } from 'node:fs/promises'

/** Clock ticks per second of /proc's times (CLK_TCK, 100 on Linux) */
const TICKS_PER_SECOND = 100

/** Whether a connection string points at this machine, whose /proc shows the database's processes */
export function isLocalDatabase (url: string): boolean {
  try {
    const host = new URL(url).hostname
    return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || host === ''
  } catch {
    return false
  }
}

/** CPU time (ms) of every PostgreSQL process on this machine so far, live and ended; undefined without any */
export async function databaseCpuMs (): Promise<number | undefined> {
  let entries: string[]
  try {
    entries = await readdir('/proc')
  } catch {
    return undefined
  }

  let ticks = 0
  let found = false
  await Promise.all(entries.filter(name => /^\d+$/.test(name)).map(async pid => {
    let stat: string
    try {
      stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    } catch {
      // ended between the listing and the read: its time is in its parent's reaped children now
      return
    }
    const open = stat.indexOf('(')
    const close = stat.lastIndexOf(')')
    if (stat.slice(open + 1, close) !== 'postgres') {
      return
    }
    // the fields after the name: state, ppid, …, utime (14th field), stime, cutime, cstime
    const fields = stat.slice(close + 2).split(' ')
    const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map(i => Number(fields[i]))
    found = true
    ticks += utime + stime
    // the postmaster (its parent is not a postgres process) holds the time of the backends that have ended
    const parent = await readFile(`/proc/${fields[1]}/stat`, 'utf8').catch(() => '')
    if (!parent.includes('(postgres)')) {
      ticks += cutime + cstime
    }
  }))

  return found ? ticks * 1000 / TICKS_PER_SECOND : undefined
}
