// Turns vitest's JSON report into the one closing line CI reads:
// "N passed, N failed, N skipped". A file that failed to load counts as a failure.
import { readFileSync } from 'node:fs';

const [reportPath, vitestStatus] = process.argv.slice(2);
let report;
try {
  report = JSON.parse(readFileSync(reportPath, 'utf8'));
} catch {
  console.log(`0 passed, 1 failed`);
  process.exit(1);
}
const staticChecks = Number(process.env.CTR_STATIC_CHECKS ?? 0);
const staticFailed = Number(process.env.CTR_STATIC_FAILED ?? 0);
const passed = (report.numPassedTests ?? 0) + staticChecks - staticFailed;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
const brokenFiles = (report.testResults ?? []).filter(
  (f) => f.status === 'failed' && (f.assertionResults ?? []).every((a) => a.status !== 'failed'),
).length;
const failed = (report.numFailedTests ?? 0) + brokenFiles + staticFailed;
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || Number(vitestStatus) !== 0 ? 1 : 0);
