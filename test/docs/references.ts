/**
 * What keeps the repository self-contained: every rule id cited anywhere is defined in
 * docs/spec.md, and no citation, link or path points outside the repository. Plain string work on
 * files read once, so the test that uses it runs in well under a second.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';

export const REPO_ROOT = resolve(dirname(new URL(import.meta.url).pathname), '../..');

/** The folders and files whose text may cite rules or link to other files. */
export const SCANNED = [
  'lambda',
  'local',
  'lib',
  'bin',
  'examples',
  'test',
  'bench',
  'docs',
  'config',
  'README.md',
  'eslint.config.js',
  'jest.config.js',
  '.github',
  '.ci',
] as const;

const TEXT_EXTENSIONS = new Set([
  '.ts',
  '.js',
  '.mjs',
  '.cjs',
  '.md',
  '.json',
  '.yml',
  '.yaml',
  '',
]);
const SKIPPED_FOLDERS = new Set(['node_modules', '__snapshots__', 'cdk.out', '.local']);

/** A rule id: an area prefix (docs/spec.md) and one or more upper-case parts, e.g. JAG-AUDIENCE. */
const RULE_ID =
  /(?<![A-Za-z0-9_-])(?:DISC|JWKS|REQ|AUTH|JAG|GRANT|RESP|DPOP|CORS)(?:-[A-Z0-9]+)+(?![A-Za-z0-9_])/g;

export interface SourceFile {
  /** Relative to the repository root, with forward slashes. */
  readonly path: string;
  readonly text: string;
}

export interface Finding {
  readonly file: string;
  readonly line: number;
  readonly problem: string;
}

/** The rule ids docs/spec.md defines: each is the first word of a heading. */
export function definedRuleIds(spec: string): Map<string, number> {
  const defined = new Map<string, number>();
  for (const { text } of headings(spec)) {
    const first = text.split(/\s/, 1)[0] ?? '';
    if (new RegExp(`^${RULE_ID.source}$`).test(first))
      defined.set(first, (defined.get(first) ?? 0) + 1);
  }
  return defined;
}

/** Every rule id cited in `text`, with its line number. */
export function citedRuleIds(text: string): { id: string; line: number }[] {
  const cited: { id: string; line: number }[] = [];
  text.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(RULE_ID)) cited.push({ id: m[0], line: i + 1 });
  });
  return cited;
}

/** Each citation of an id that `spec` does not define, and each id `spec` defines twice. */
export function danglingRuleIds(spec: string, files: readonly SourceFile[]): Finding[] {
  const defined = definedRuleIds(spec);
  const findings: Finding[] = [];
  for (const [id, count] of defined) {
    if (count > 1)
      findings.push({ file: 'docs/spec.md', line: 0, problem: `${id} is defined ${count} times` });
  }
  for (const file of files) {
    for (const { id, line } of citedRuleIds(file.text)) {
      if (!defined.has(id))
        findings.push({ file: file.path, line, problem: `${id} is not defined in docs/spec.md` });
    }
  }
  return findings;
}

/**
 * Citations and links that a clone cannot follow: the contract or the architecture cited by a
 * name that is not a file in the repository, a section sign that does not say which document it
 * cites, a path that climbs out of the repository, a markdown link to a file or heading that does
 * not exist, and a mention of a .md file that is not there.
 */
export function unreachableReferences(
  files: readonly SourceFile[],
  root: string = REPO_ROOT,
  readText: (absolutePath: string) => string | undefined = readIfFile,
): Finding[] {
  const findings: Finding[] = [];
  for (const file of files) {
    const dir = dirname(join(root, file.path));
    const inRepo = (p: string) => p === root || p.startsWith(root + sep);
    const markdown = file.path.endsWith('.md');
    const lines = file.text.split('\n');
    lines.forEach((line, i) => {
      const at = (problem: string) => findings.push({ file: file.path, line: i + 1, problem });
      // Written with character classes so that this file does not match itself.
      if (/\b[S]PEC\b/.test(line)) at('cites the external contract by name: cite a rule id');
      if (/[A]RCHITECTURE\.md/.test(line))
        at('cites a file that is not here: docs/architecture.md');
      if (/[s]hared\/reference|\.\.\/[s]hared\b/.test(line))
        at('points at a folder outside the repository');
      for (const m of line.matchAll(/\u00a7/g)) {
        if (!attributed(`${lines[i - 1] ?? ''}\n${line.slice(0, m.index)}`))
          at('a section sign that does not say which document it cites');
      }
      // Code is checked by tsc; its relative strings include import globs (eslint.config.js).
      const prose = markdown || /^\s*(\/\/|\/?\*)/.test(line);
      if (!prose) return;
      for (const m of line.matchAll(/(?<![\w.])(?:\.\.\/)+[\w.-]+/g)) {
        if (!inRepo(resolve(dir, m[0]))) at(`${m[0]} leaves the repository`);
      }
      if (markdown) {
        for (const target of markdownLinkTargets(line)) {
          const problem = checkLink(target, file, root, readText);
          if (problem) at(problem);
        }
      }
      for (const m of line.matchAll(/(?<![\w./-])(?:\.{1,2}\/)?(?:[\w.-]+\/)*[\w-]+\.md\b/g)) {
        const candidates = [resolve(dir, m[0]), resolve(root, m[0])];
        if (!candidates.some((p) => inRepo(p) && readText(p) !== undefined))
          at(`${m[0]} is not a file in the repository`);
      }
    });
  }
  return findings;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function githubSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The text of every file under SCANNED, skipping dependencies, build output and snapshots. */
export function readRepoFiles(root: string = REPO_ROOT): SourceFile[] {
  const files: SourceFile[] = [];
  const visit = (abs: string) => {
    const stat = statSync(abs, { throwIfNoEntry: false });
    if (!stat) return;
    if (stat.isDirectory()) {
      for (const name of readdirSync(abs)) if (!SKIPPED_FOLDERS.has(name)) visit(join(abs, name));
    } else if (TEXT_EXTENSIONS.has(extname(abs))) {
      files.push({
        path: relative(root, abs).split(sep).join('/'),
        text: readFileSync(abs, 'utf8'),
      });
    }
  };
  for (const entry of SCANNED) visit(join(root, entry));
  return files;
}

/**
 * Whether a section sign says which document it cites: an RFC, the draft, OpenID, or an earlier
 * section sign of the same list ("RFC 6749 §2.3.1, §10.1"), not far before it and not across a
 * table cell, a code span or a sentence.
 */
function attributed(before: string): boolean {
  const anchors = [...before.matchAll(/RFC ?\d+|draft|I-D|OpenID|[Ss]ection|\u00a7[\d.]+/g)];
  const last = anchors.at(-1);
  if (!last) return false;
  const gap = before.slice(last.index + last[0].length);
  return gap.length <= 80 && !/[|`]|\.\s/.test(gap);
}

function headings(markdown: string): { text: string }[] {
  const found: { text: string }[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (m) found.push({ text: m[1]! });
  }
  return found;
}

/** Inline link and image targets, and reference definitions, outside code spans. */
function markdownLinkTargets(line: string): string[] {
  const prose = line.replace(/`[^`]*`/g, '');
  const targets = [...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map(
    (m) => m[1]!,
  );
  const definition = /^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(prose);
  if (definition) targets.push(definition[1]!);
  return targets;
}

function checkLink(
  target: string,
  file: SourceFile,
  root: string,
  readText: (p: string) => string | undefined,
): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return undefined;
  const [pathPart = '', anchor] = target.split('#', 2);
  const abs =
    pathPart === '' ? join(root, file.path) : resolve(dirname(join(root, file.path)), pathPart);
  if (abs !== root && !abs.startsWith(root + sep)) return `link ${target} leaves the repository`;
  const stat = statSync(abs, { throwIfNoEntry: false });
  if (stat?.isDirectory()) return anchor ? `link ${target} puts an anchor on a folder` : undefined;
  const text = pathPart === '' ? file.text : readText(abs);
  if (text === undefined) return `link ${target} names a file that does not exist`;
  if (anchor && abs.endsWith('.md')) {
    const slugs = new Set(headings(text).map((h) => githubSlug(h.text)));
    if (!slugs.has(decodeURIComponent(anchor).toLowerCase()))
      return `link ${target} names a heading that does not exist`;
  }
  return undefined;
}

const fileTexts = new Map<string, string | undefined>();
function readIfFile(abs: string): string | undefined {
  if (!fileTexts.has(abs))
    fileTexts.set(
      abs,
      existsSync(abs) && statSync(abs).isFile() ? readFileSync(abs, 'utf8') : undefined,
    );
  return fileTexts.get(abs);
}
