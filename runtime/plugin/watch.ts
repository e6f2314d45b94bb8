/**
 * Watching the plugins folder in development: a burst of file changes in one plugin's folder (an editor's save,
 * a `git checkout`, a copied-in folder) becomes one call, once the folder has been quiet for a moment.
 * @module
 */

/** How long a plugin folder must be quiet before it is reloaded (ms). */
export const QUIET_MS = 300;

/** Files whose changes mean nothing to a plugin: hidden files, editors' swap and backup files. */
const IGNORED = /(^|\/)\.|~$|\.(swp|swx|tmp|bak)$/;

/**
 * Calls `changed(name)` for each plugin folder under `root` that changed, `quietMs` after its last change; a
 * change to the root's own files, or to ignored files, calls nothing. Answers a function that stops watching.
 */
export function watchPluginFolders(root: string, changed: (name: string) => void, quietMs = QUIET_MS): () => void {
  const watcher = Deno.watchFs(root, { recursive: true });
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  (async () => {
    for await (const event of watcher) {
      if (event.kind === "access" || event.kind === "other") continue;
      for (const path of event.paths) {
        const relative = path.startsWith(`${root}/`) ? path.slice(root.length + 1) : null;
        if (relative === null || IGNORED.test(relative)) continue;
        const name = relative.split("/")[0];
        clearTimeout(timers.get(name));
        timers.set(
          name,
          setTimeout(() => {
            timers.delete(name);
            changed(name);
          }, quietMs),
        );
      }
    }
  })();
  return () => {
    for (const t of timers.values()) clearTimeout(t);
    timers.clear();
    watcher.close();
  };
}
