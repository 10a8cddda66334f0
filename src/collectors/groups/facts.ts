// The facts and the needs are the port's (core/groups.ts): the collector fills them, the rules read them.
import type { ProcessFacts } from '../../core/groups.js';
export type { FactNeeds, ProcessFacts } from '../../core/groups.js';

/** Last path segment of `path`. */
export function baseName(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === -1 ? path : path.slice(slash + 1);
}

/** The executable as the rules see it: the exe link, else the first argument. */
export function executableOf(facts: ProcessFacts): string {
  return facts.exe ?? facts.argv?.[0] ?? '';
}

const UNIT_SUFFIXES = ['.service', '.scope'];

/**
 * The systemd unit a cgroup path places the process in: its deepest segment
 * ending in `.service` or `.scope` (`/system.slice/nginx.service` gives
 * `nginx.service`), or '' when there is none.
 */
export function unitOfCgroup(cgroup: string | null): string {
  if (cgroup === null) return '';
  const segments = cgroup.split('/');
  for (let i = segments.length - 1; i >= 0; i--) {
    const segment = segments[i] ?? '';
    if (UNIT_SUFFIXES.some((suffix) => segment.endsWith(suffix) && segment.length > suffix.length)) return segment;
  }
  return '';
}

const CONTAINER_PREFIXES = ['docker-', 'cri-containerd-', 'crio-', 'libpod-', 'containerd-'];

function isContainerId(text: string): boolean {
  if (text.length !== 64) return false;
  for (let i = 0; i < 64; i++) {
    const code = text.charCodeAt(i);
    if (!((code >= 48 && code <= 57) || (code >= 97 && code <= 102))) return false;
  }
  return true;
}

/**
 * The container id (64 hex digits) a cgroup path names, or '' when none: the
 * deepest segment that is one, bare (`/docker/ID`, cgroupfs kubepods) or as a
 * systemd scope (`docker-ID.scope`, `cri-containerd-ID.scope`, `crio-ID.scope`,
 * `libpod-ID.scope`).
 */
export function containerIdOfCgroup(cgroup: string | null): string {
  if (cgroup === null) return '';
  const segments = cgroup.split('/');
  for (let i = segments.length - 1; i >= 0; i--) {
    let segment = segments[i] ?? '';
    if (segment.endsWith('.scope')) segment = segment.slice(0, -'.scope'.length);
    const prefix = CONTAINER_PREFIXES.find((candidate) => segment.startsWith(candidate));
    if (prefix !== undefined) segment = segment.slice(prefix.length);
    if (isContainerId(segment)) return segment;
  }
  return '';
}
