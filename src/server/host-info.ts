// What `stats` reports about the machine a Node-hosted server runs on (pid, hostname, os, rusage).
import os from 'node:os';
import type { HostInfo } from '../engine/types.ts';

export function hostInfo(): HostInfo {
  return {
    pid: process.pid,
    hostname: os.hostname(),
    os: os.version(),
    platform: os.machine(),
    rusage: () => {
      const u = process.resourceUsage();
      return { utime: u.userCPUTime / 1e6, stime: u.systemCPUTime / 1e6 };
    },
  };
}
