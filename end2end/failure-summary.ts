import type { FullResult, Reporter, TestCase, TestResult } from '@playwright/test/reporter';

// Prints, after everything else, each failed test with the first lines of its error, so the
// last screen of a CI log says what broke (the list reporter's details scroll far above it).
const ANSI = /\u001b\[[0-9;]*m/g;

export default class FailureSummary implements Reporter {
  private failed: { title: string; error: string }[] = [];

  onTestEnd(test: TestCase, result: TestResult) {
    if (result.status === 'passed' || result.status === 'skipped' || result.status === test.expectedStatus) return;
    const error = result.errors
      .map((e) => [e.message ?? e.value ?? '', e.location ? `at ${e.location.file}:${e.location.line}` : '']
        .join('\n'))
      .join('\n')
      .replace(ANSI, '');
    this.failed.push({ title: test.titlePath().filter(Boolean).join(' › '), error });
  }

  onEnd(_result: FullResult) {
    if (this.failed.length === 0) return;
    console.log(`\n==> ${this.failed.length} failed end-to-end test(s):`);
    for (const f of this.failed) {
      console.log(`\n--- ${f.title}`);
      console.log(f.error.split('\n').slice(0, 30).join('\n'));
    }
  }
}
