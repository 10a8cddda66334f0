/**
 * Where the kernel's files are read from: procfs, and everything else of the
 * host (the mount points /proc/self/mountinfo names, such as the cgroup
 * hierarchies under /sys/fs/cgroup, and /etc/passwd) beneath one prefix.
 * Every reader of /proc and of cgroup files takes one, the command's included:
 * `HostRoot.live` is the machine's own, and a test points one at a fixture tree.
 */
export class HostRoot {
  /** This machine: /proc, and host paths as they are. */
  static readonly live = new HostRoot('/proc', '');

  /** Where procfs is mounted, without a trailing slash, e.g. /proc. */
  readonly proc: string;
  /** Put before every host path (a mount point, /etc/passwd); '' on the live machine. */
  readonly prefix: string;

  constructor(proc: string, prefix = '') {
    this.proc = proc.replace(/\/+$/, '');
    this.prefix = prefix.replace(/\/+$/, '');
  }

  /** `<proc>/<pid>/<file>`; with no file, the process's directory. */
  pid(pid: number | 'self', file?: string): string {
    return file === undefined ? `${this.proc}/${pid}` : `${this.proc}/${pid}/${file}`;
  }

  /** A file of procfs itself, e.g. `stat`, `uptime`. */
  procFile(name: string): string {
    return `${this.proc}/${name}`;
  }

  /** A path of the host (a mount point read from mountinfo, /etc/passwd) under this root. */
  host(path: string): string {
    return this.prefix + path;
  }
}
