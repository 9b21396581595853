/**
 * Per-area floors for the mutation score of `npm run test:mutation` (Stryker has one `thresholds.break`
 * for a whole run; we hold the converter and the breaker to more than the rest). Reads Stryker's JSON
 * report (mutation-testing-report-schema) and prints one line per area; exits 1 when one is below its floor.
 *
 *   node scripts/check-mutation-scores.ts [reports/mutation/mutation.json]
 */
import { readFileSync } from 'node:fs';

interface MutantResult {
  readonly status: 'Killed' | 'Survived' | 'NoCoverage' | 'Timeout' | 'CompileError' | 'RuntimeError' | 'Ignored' | 'Pending';
}
interface Report {
  readonly files: Readonly<Record<string, { readonly mutants: readonly MutantResult[] }>>;
}

/** Path prefix → the lowest acceptable mutation score, %. */
const FLOORS: readonly (readonly [string, number])[] = [
  ['libs/responses/', 85],
  ['libs/breaker/', 85],
  ['libs/response-store/', 75],
  ['libs/upstream/', 75],
  ['apps/gateway/src/turns/', 75],
];

const report = JSON.parse(readFileSync(process.argv[2] ?? 'reports/mutation/mutation.json', 'utf8')) as Report;
let failed = false;
for (const [prefix, floor] of FLOORS) {
  let detected = 0;
  let valid = 0;
  for (const [file, { mutants }] of Object.entries(report.files)) {
    if (!file.replaceAll('\\', '/').includes(prefix)) continue;
    for (const { status } of mutants) {
      // Stryker's own score: killed and timed-out mutants over all but those that did not compile or run.
      if (status === 'CompileError' || status === 'RuntimeError' || status === 'Ignored' || status === 'Pending') continue;
      valid += 1;
      if (status === 'Killed' || status === 'Timeout') detected += 1;
    }
  }
  const score = valid === 0 ? 100 : (100 * detected) / valid;
  const ok = score >= floor;
  failed ||= !ok;
  process.stdout.write(
    `${ok ? 'ok  ' : 'LOW '} ${prefix.padEnd(26)} ${score.toFixed(1).padStart(5)} %  (floor ${floor} %, ${detected}/${valid} mutants detected)\n`,
  );
}
process.exit(failed ? 1 : 0);
