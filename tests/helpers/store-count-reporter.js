'use strict';
// Prints, after the run, how many store contract tests ran against each store, so CI output
// shows that the suite really ran against SQLite and against MongoDB's wire protocol; then the
// run's totals as one plain line.
class StoreCountReporter {
  onRunComplete(_contexts, results) {
    const counts = {};
    for (const file of results.testResults) {
      for (const t of file.testResults) {
        const m = /^store contract: (\w+)/.exec(t.ancestorTitles[0] || '');
        if (!m) continue;
        const c = (counts[m[1]] = counts[m[1]] || { passed: 0, failed: 0 });
        if (t.status === 'passed') c.passed++;
        else if (t.status === 'failed') c.failed++;
      }
    }
    const parts = Object.entries(counts).map(([k, c]) => `${k} ${c.passed} passed, ${c.failed} failed`);
    process.stdout.write(`\nstore contract suite: ${parts.length ? parts.join('; ') : 'not run'}\n`);
    // The plain closing line CI reads: 'N passed, N failed' alone on a line.
    const skipped = results.numPendingTests + results.numTodoTests;
    process.stdout.write(
      `tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : '') + '\n',
    );
  }
}
module.exports = StoreCountReporter;
