/**
 * The code a worker thread starts with (run with `eval: true`): it imports the thread's module,
 * the compiled `.js` beside the caller, or from source the `.ts` through tsx. Module hooks of the
 * parent thread do not reach a worker's entry, so from source the worker registers tsx itself.
 * Dynamic imports only: the code also runs as a module (a parent started with --input-type=module).
 */
export function threadEntry(callerUrl: string, name: string): string {
  const fromSource = callerUrl.endsWith('.ts');
  const entry = new URL(`./${name}${fromSource ? '.ts' : '.js'}`, callerUrl).href;
  const tsx = fromSource ? import.meta.resolve('tsx/esm/api') : null;
  return ['(async () => {', tsx === null ? '' : `  (await import(${JSON.stringify(tsx)})).register();`, `  await import(${JSON.stringify(entry)});`, '})();'].join('\n');
}
