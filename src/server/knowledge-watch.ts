import { createHash } from 'node:crypto';
import fs from 'node:fs';

/**
 * Watches the site knowledge file by content, so a change reaches a running replica without a restart or a signal.
 *
 * A Kubernetes ConfigMap volume updates by writing a new timestamped directory and swapping the `..data` symlink
 * over it: the file's path stays, its inode changes, and a watch on the old inode (fs.watch on the file) never fires
 * again. So this re-reads the path every `intervalMs` and compares a SHA-256 of its bytes with the last one seen;
 * mtime alone would miss a swap to a file with an older time, and a size check a same-length edit. The file is
 * small (site thresholds), so a read every few seconds costs nothing.
 *
 * A changed hash calls `reload` once, exactly what SIGHUP does (an invalid file keeps the running knowledge, is
 * logged and counted there); the same bad content is not retried every interval, only the next change is. A file
 * that cannot be read counts as content of its own ("unreadable: ENOENT"), so a missing file is tried once too.
 */
export interface KnowledgeWatch {
  /** Reads the file now and reloads if its content differs from the last seen (the poll's one step; tests call it). */
  check(): void;
  /** Records the current content as seen, e.g. after a SIGHUP reload, so the next poll does not reload it again. */
  markSeen(): void;
  stop(): void;
}

/** What the watch compares: the file's SHA-256, or why it could not be read. */
export function fingerprint(file: string): string {
  try {
    return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  } catch (e) {
    return `unreadable: ${(e as NodeJS.ErrnoException).code ?? (e as Error).name}`;
  }
}

/** `loadedFrom`: the fingerprint taken just before the running knowledge was read, so an edit in between is seen. */
export function watchKnowledgeFile(
  file: string,
  intervalMs: number,
  reload: () => void,
  loadedFrom = fingerprint(file),
): KnowledgeWatch {
  let seen = loadedFrom;
  const check = () => {
    const now = fingerprint(file);
    if (now === seen) return;
    seen = now;
    reload();
  };
  const timer = setInterval(check, intervalMs);
  // The poll must not keep a process alive that is otherwise done (close() stops it too).
  timer.unref();
  return {
    check,
    markSeen: () => {
      seen = fingerprint(file);
    },
    stop: () => clearInterval(timer),
  };
}
