// The YAML bodies of stats, stats-tube, stats-job and list-tubes, byte for byte as beanstalkd 1.12
// formats them (STATS_FMT, STATS_TUBE_FMT, STATS_JOB_FMT, do_list_tubes): unquoted strings, fixed order.
import type { Engine } from './engine.ts';
import type { Job } from './job.ts';
import type { Tube } from './tube.ts';
import { COUNTED_OPS } from './command.ts';
import { VERSION } from './types.ts';

const secs = (ms: number) => Math.trunc(ms / 1000);
/**
 * Whole seconds left. beanstalkd reads its clock a few µs after the event it reports on, so exactly
 * N s left shows as N-1 (a ttr=30 job just reserved: `time-left: 29`); a virtual clock has no such gap.
 */
const secsLeft = (ms: number) => (ms > 0 ? Math.ceil(ms / 1000) - 1 : 0);

export function formatStats(e: Engine): string {
  const now = e.now();
  let delayed = 0;
  for (const t of e.tubes.items) delayed += t.delay.length;
  const ru = e.host.rusage();
  const usec = (s: number) => {
    const whole = Math.floor(s);
    return `${whole}.${String(Math.floor((s - whole) * 1e6)).padStart(6, '0')}`;
  };
  const log = e.log?.stats;
  const lines = [
    '---',
    `current-jobs-urgent: ${e.urgentCount}`,
    `current-jobs-ready: ${e.readyCount}`,
    `current-jobs-reserved: ${e.reservedCount}`,
    `current-jobs-delayed: ${delayed}`,
    `current-jobs-buried: ${e.buriedCount}`,
    ...COUNTED_OPS.map((op) => `cmd-${op}: ${e.cmdCounts[op]}`),
    `job-timeouts: ${e.timeoutCount}`,
    `total-jobs: ${e.totalJobs}`,
    `max-job-size: ${e.maxJobSize}`,
    `current-tubes: ${e.tubes.length}`,
    `current-connections: ${e.currentConnections}`,
    `current-producers: ${e.currentProducers}`,
    `current-workers: ${e.currentWorkers}`,
    `current-waiting: ${e.waitingCount}`,
    `total-connections: ${e.totalConnections}`,
    `pid: ${e.host.pid}`,
    `version: "${VERSION}"`,
    `rusage-utime: ${usec(ru.utime)}`,
    `rusage-stime: ${usec(ru.stime)}`,
    `uptime: ${secs(now - e.startedAt)}`,
    `binlog-oldest-index: ${log?.oldestIndex ?? 0}`,
    `binlog-current-index: ${log?.currentIndex ?? 0}`,
    `binlog-records-migrated: ${log?.recordsMigrated ?? 0}`,
    `binlog-records-written: ${log?.recordsWritten ?? 0}`,
    `binlog-max-size: ${log?.maxSize ?? e.binlogMaxSize}`,
    `draining: ${e.draining}`,
    `id: ${e.instanceId}`,
    `hostname: ${e.host.hostname}`,
    `os: ${e.host.os}`,
    `platform: ${e.host.platform}`,
  ];
  return lines.join('\n') + '\n';
}

export function formatTubeStats(e: Engine, t: Tube): string {
  const timeLeft = t.paused ? secsLeft(t.unpauseAt - e.now()) : 0;
  return (
    [
      '---',
      `name: ${t.name}`,
      `current-jobs-urgent: ${t.urgentCount}`,
      `current-jobs-ready: ${t.ready.length}`,
      `current-jobs-reserved: ${t.reservedCount}`,
      `current-jobs-delayed: ${t.delay.length}`,
      `current-jobs-buried: ${t.buried.size}`,
      `total-jobs: ${t.totalJobsCount}`,
      `current-using: ${t.usingCount}`,
      `current-watching: ${t.watchingCount}`,
      `current-waiting: ${t.waitingCount}`,
      `cmd-delete: ${t.totalDeleteCount}`,
      `cmd-pause-tube: ${t.pauseCount}`,
      `pause: ${t.paused ? secs(t.pause) : 0}`,
      `pause-time-left: ${timeLeft}`,
    ].join('\n') + '\n'
  );
}

export function formatJobStats(e: Engine, j: Job): string {
  const now = e.now();
  const timeLeft = j.state === 'reserved' || j.state === 'delayed' ? secsLeft(j.deadlineAt - now) : 0;
  return (
    [
      '---',
      `id: ${j.id}`,
      `tube: ${j.tube.name}`,
      `state: ${j.state}`,
      `pri: ${j.pri}`,
      `age: ${secs(now - j.createdAt)}`,
      `delay: ${secs(j.delay)}`,
      `ttr: ${secs(j.ttr)}`,
      `time-left: ${timeLeft}`,
      `file: ${j.file}`,
      `reserves: ${j.reserveCount}`,
      `timeouts: ${j.timeoutCount}`,
      `releases: ${j.releaseCount}`,
      `buries: ${j.buryCount}`,
      `kicks: ${j.kickCount}`,
    ].join('\n') + '\n'
  );
}

export function formatTubeList(tubes: readonly Tube[]): string {
  let s = '---\n';
  for (const t of tubes) s += `- ${t.name}\n`;
  return s;
}
