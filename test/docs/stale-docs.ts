/**
 * What makes a document go stale without a broken link: a configuration key renamed in the code
 * but not in the prose, an `error_description` the server no longer sends, and a work log where a
 * design should be. Plain string work, so the checks can be handed fixtures that must fail.
 */
import { nearest } from '../../lib/environment-config.js';
import type { Finding, SourceFile } from './references.js';

/**
 * Whether a key is one the configuration file may hold; for a dotted path (`customDomain.hostedZone`)
 * each of its parts.
 */
export type KnownKey = (key: string) => boolean;

/** A camelCase name in a code span, possibly a dotted path: how the docs name configuration keys. */
const CAMEL_PATH = /`([a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+(?:\.[a-z][A-Za-z0-9]*)*)`/g;

/**
 * Configuration keys the docs name that the file's schema does not know. In a `json` block every
 * camelCase member must be a key. In prose a name in a code span counts as a key when it reads
 * like one without being one — the same words with another ending (`maxAccessTokenTtl`), or a
 * typo — as the schema itself judges a misspelt key; other identifiers (functions, log fields)
 * are not configuration. A line that renames a key (`` `old` → `new` ``) may name the old one.
 */
export function unknownConfigKeys(
  files: readonly SourceFile[],
  known: KnownKey,
  allKeys: readonly string[],
): Finding[] {
  const findings: Finding[] = [];
  for (const file of files) {
    let json = false;
    let fenced = false;
    file.text.split('\n').forEach((line, i) => {
      const at = (problem: string) => findings.push({ file: file.path, line: i + 1, problem });
      const fence = /^\s*```(\w*)/.exec(line);
      if (fence) {
        fenced = !fenced;
        json = fenced && fence[1] === 'json';
        return;
      }
      if (json) {
        for (const m of line.matchAll(/"([a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+)"\s*:/g)) {
          if (!known(m[1]!)) at(`"${m[1]}" is not a configuration key${hint(m[1]!, allKeys)}`);
        }
        return;
      }
      if (fenced) return;
      for (const m of line.matchAll(CAMEL_PATH)) {
        const name = m[1]!;
        if (known(name) || line.includes(`\`${name}\` →`)) continue;
        const near = nearestKey(name.split('.').at(-1)!, allKeys);
        if (near) at(`\`${name}\` is not a configuration key (did you mean \`${near}\`?)`);
      }
    });
  }
  return findings;
}

function hint(name: string, keys: readonly string[]): string {
  const near = nearestKey(name, keys);
  return near ? ` (did you mean "${near}"?)` : '';
}

/**
 * The key `name` is a near miss of, by the rule the configuration loader uses for a misspelt key
 * (lib/environment-config.ts): a small edit distance, or the same first eight letters.
 */
export function nearestKey(name: string, keys: readonly string[]): string | undefined {
  return keys.includes(name) ? undefined : nearest(name, keys);
}

/**
 * Phrases of a work log: a design document says what the code does and why, in the present tense;
 * figures are in docs/performance.md, written by the command that measured them, and history is in
 * the commit messages. Each pattern with what to do instead.
 */
export const WORK_LOG_PHRASES: readonly { pattern: RegExp; instead: string }[] = [
  {
    pattern: /\bthe issue\b|\bissue's\b|\bissue #?\d+/i,
    instead: 'state the design, not the ticket',
  },
  { pattern: /\|\s*(before|after)\b[^|]*:/i, instead: 'describe what is, not what it was' },
  { pattern: /\bexperiment\b/i, instead: 'leave out what the code does not do' },
  { pattern: /\bre-run\b|\bmeasured again\b/i, instead: 'give the command that measures it' },
  {
    pattern: /\bhad gone back\b|\bwent back to\b|\bno longer earns\b/i,
    instead: 'say why it is so',
  },
  {
    pattern: /\bshort of the [\d.]+ target\b/i,
    instead: 'targets are checked in docs/performance.md',
  },
  { pattern: /\bblocked by npm\b/i, instead: 'give the reason that holds for every user' },
  { pattern: /\bcommit [0-9a-f]{7,40}\b|\bworktree add\b/i, instead: 'history is in git' },
];

/** Each line of `files` that reads as a work log. */
export function workLogLines(files: readonly SourceFile[]): Finding[] {
  const findings: Finding[] = [];
  for (const file of files) {
    file.text.split('\n').forEach((line, i) => {
      for (const { pattern, instead } of WORK_LOG_PHRASES) {
        const m = pattern.exec(line);
        if (m) findings.push({ file: file.path, line: i + 1, problem: `"${m[0]}": ${instead}` });
      }
    });
  }
  return findings;
}

/**
 * The troubleshooting tables' `error_description begins` cells that the server cannot send. Each
 * code span in such a cell is a description; each text between its "…" placeholders (quotes and
 * edge punctuation left out, at least four characters) must occur in the code, word for word, where
 * an interpolation (`${…}`) stands for any one word: so a message that changed, or a refusal that
 * went away, shows up.
 */
export function unsentDescriptions(doc: SourceFile, sources: readonly SourceFile[]): Finding[] {
  const findings: Finding[] = [];
  const code = sources.map((s) => codeWords(s.text));
  let column = -1;
  doc.text.split('\n').forEach((line, i) => {
    if (!line.startsWith('|')) {
      column = -1;
      return;
    }
    const cells = line.split('|').map((c) => c.trim());
    const header = cells.findIndex((c) => /^`?error_description`? begins$/.test(c));
    if (header >= 0) {
      column = header;
      return;
    }
    if (column < 0 || /^-+$/.test(cells[1] ?? '')) return;
    for (const [, description] of (cells[column] ?? '').matchAll(/`([^`]+)`/g)) {
      for (const part of description!.split('…')) {
        const fragment = part.replaceAll('"', '').replace(/^[\s,;:.]+|[\s,;:.]+$/g, '');
        if (fragment.length >= 4 && !code.some((words) => occursIn(fragment, words)))
          findings.push({
            file: doc.path,
            line: i + 1,
            problem: `the server sends no description with "${fragment}"`,
          });
      }
    }
  });
  return findings;
}

/** A word of the code: its text, or a pattern where an interpolation stands in it. */
type CodeWord = string | RegExp;

/** The words of some source text, without the quotes around strings. */
export function codeWords(source: string): CodeWord[] {
  return (
    source
      .split(/\s+/)
      // A string's quotes, with the call or the punctuation around them: f('text', `more ${x}`,
      .map((word) => word.replace(/^([\w.]*[([{]+)?['"`]+/, '').replace(/['"`]+[)\]},;]*$/, ''))
      .filter(Boolean)
      .map((word) => {
        const parts = word.split(/\$\{[^}]*\}?/);
        if (parts.length === 1) return word;
        return new RegExp(`^${parts.map(escapeRegExp).join('\\S*')}$`);
      })
  );
}

/**
 * Whether `fragment` is a run of the words: an interpolated word stands for any word, at least one
 * word matches as text, and the fragment's last word may end early ("check" for "check:").
 */
function occursIn(fragment: string, words: readonly CodeWord[]): boolean {
  const wanted = fragment.split(/\s+/);
  for (let start = 0; start + wanted.length <= words.length; start++) {
    let textual = false;
    const all = wanted.every((w, k) => {
      const word = words[start + k]!;
      if (typeof word !== 'string') return word.test(w);
      const same = word === w || (k === wanted.length - 1 && word.startsWith(w));
      textual ||= same;
      return same;
    });
    if (all && textual) return true;
  }
  return false;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
