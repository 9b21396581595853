import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends a run with the plain line CI tools read, `Tests: N passed, N failed, N skipped`, counted from
 * vitest's own results. A file that failed to load counts as one failure: its tests never ran.
 */
export default class ClosingLineReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const testModule of testModules) {
      let moduleFailures = 0;
      for (const testCase of testModule.children.allTests()) {
        const state = testCase.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'failed') moduleFailures += 1;
        else skipped += 1;
      }
      failed += moduleFailures === 0 && testModule.state() === 'failed' ? 1 : moduleFailures;
    }
    process.stdout.write(`\nTests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
