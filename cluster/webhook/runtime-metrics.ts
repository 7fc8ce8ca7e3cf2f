import { readdirSync, readFileSync } from 'node:fs';
import {
  constants,
  monitorEventLoopDelay,
  type PerformanceEntry,
  PerformanceObserver,
} from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import type { Clock } from '../../shared/ports';
import { Gauge, Histogram, LabelledGauge, ReadCounter, type Registry } from './metrics';

/**
 * The process and Node.js metrics prom-client's collectDefaultMetrics() exports, under its
 * names, help texts and units (prom-client 15.1.3, lib/metrics/), written here so the
 * webhook's own registry stays dependency-free (docs/enforcement.md says why). Read at
 * scrape time; the event-loop monitor and the GC observer run until close().
 */
export class RuntimeMetrics {
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 });
  private readonly gcObserver: PerformanceObserver;
  private lag: number | undefined;

  constructor(registry: Registry, clock: Clock) {
    const add = <F extends Parameters<Registry['add']>[0]>(family: F) => registry.add(family);

    const cpu = (name: string, help: string, read: (u: NodeJS.CpuUsage) => number) =>
      add(new ReadCounter(name, help, () => read(process.cpuUsage()) / 1e6));
    cpu('process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.', (u) => u.user);
    cpu(
      'process_cpu_system_seconds_total',
      'Total system CPU time spent in seconds.',
      (u) => u.system,
    );
    cpu(
      'process_cpu_seconds_total',
      'Total user and system CPU time spent in seconds.',
      (u) => u.user + u.system,
    );
    const start = Math.round(clock().getTime() / 1000 - process.uptime());
    add(
      new Gauge(
        'process_start_time_seconds',
        'Start time of the process since unix epoch in seconds.',
        () => start,
      ),
    );

    // /proc/self/status is read once per scrape, by the first of the three.
    let status: ProcStatus | undefined;
    add(
      new Gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', () => {
        status = procStatus();
        return status?.VmRSS ?? process.memoryUsage.rss();
      }),
    );
    add(
      new Gauge(
        'process_virtual_memory_bytes',
        'Virtual memory size in bytes.',
        () => status?.VmSize,
      ),
    );
    add(new Gauge('process_heap_bytes', 'Process heap size in bytes.', () => status?.VmData));
    add(new Gauge('process_open_fds', 'Number of open file descriptors.', openFds));
    const maxFds = maxOpenFiles();
    add(new Gauge('process_max_fds', 'Maximum number of open file descriptors.', () => maxFds));

    this.loopDelay.enable();
    const delay = this.loopDelay;
    add(
      new Gauge('nodejs_eventloop_lag_seconds', 'Lag of event loop in seconds.', () => {
        // Measured now, shown at the next scrape (prom-client does the same).
        const begin = process.hrtime.bigint();
        setImmediate(() => {
          this.lag = Number(process.hrtime.bigint() - begin) / 1e9;
        });
        return this.lag;
      }),
    );
    const lagGauge = (suffix: string, help: string, read: () => number) =>
      add(new Gauge(`nodejs_eventloop_lag_${suffix}_seconds`, help, () => read() / 1e9));
    lagGauge('min', 'The minimum recorded event loop delay.', () => delay.min);
    lagGauge('max', 'The maximum recorded event loop delay.', () => delay.max);
    lagGauge('mean', 'The mean of the recorded event loop delays.', () => delay.mean);
    lagGauge(
      'stddev',
      'The standard deviation of the recorded event loop delays.',
      () => delay.stddev,
    );
    lagGauge('p50', 'The 50th percentile of the recorded event loop delays.', () =>
      delay.percentile(50),
    );
    lagGauge('p90', 'The 90th percentile of the recorded event loop delays.', () =>
      delay.percentile(90),
    );
    lagGauge('p99', 'The 99th percentile of the recorded event loop delays.', () => {
      const p99 = delay.percentile(99);
      delay.reset(); // the last of the lag family: each scrape sees the interval since the last
      return p99;
    });

    add(
      new LabelledGauge(
        'nodejs_active_resources',
        'Number of active resources that are currently keeping the event loop alive, grouped by async resource type.',
        () => {
          const counts = new Map<string, number>();
          for (const type of process.getActiveResourcesInfo())
            counts.set(type, (counts.get(type) ?? 0) + 1);
          return [...counts].map(([type, n]) => [{ type }, n] as const);
        },
      ),
    );
    add(
      new Gauge(
        'nodejs_active_resources_total',
        'Total number of active resources.',
        () => process.getActiveResourcesInfo().length,
      ),
    );

    add(
      new Gauge(
        'nodejs_heap_size_total_bytes',
        'Process heap size from Node.js in bytes.',
        () => process.memoryUsage().heapTotal,
      ),
    );
    add(
      new Gauge(
        'nodejs_heap_size_used_bytes',
        'Process heap size used from Node.js in bytes.',
        () => process.memoryUsage().heapUsed,
      ),
    );
    add(
      new Gauge(
        'nodejs_external_memory_bytes',
        'Node.js external memory size in bytes.',
        () => process.memoryUsage().external,
      ),
    );
    for (const [kind, field] of [
      ['total', 'space_size'],
      ['used', 'space_used_size'],
      ['available', 'space_available_size'],
    ] as const) {
      add(
        new LabelledGauge(
          `nodejs_heap_space_size_${kind}_bytes`,
          `Process heap space size ${kind} from Node.js in bytes.`,
          () =>
            getHeapSpaceStatistics().map(
              (s) => [{ space: s.space_name.replace(/_space$/, '') }, s[field]] as const,
            ),
        ),
      );
    }

    const [major = 0, minor = 0, patch = 0] = process.version.slice(1).split('.').map(Number);
    add(
      new LabelledGauge('nodejs_version_info', 'Node.js version info.', () => [
        [{ version: process.version, major: `${major}`, minor: `${minor}`, patch: `${patch}` }, 1],
      ]),
    );

    const gc = add(
      new Histogram(
        'nodejs_gc_duration_seconds',
        'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
        [0.001, 0.01, 0.1, 1, 2, 5],
        true,
      ),
    );
    const kinds = new Map<number, string>([
      [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
      [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
      [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
      [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
    ]);
    this.gcObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const { detail } = entry as PerformanceEntry & { detail?: { kind?: number } };
        const kind = kinds.get(detail?.kind ?? -1);
        if (kind) gc.observe(entry.duration / 1000, { kind });
      }
    });
    this.gcObserver.observe({ entryTypes: ['gc'] });
  }

  close(): void {
    this.loopDelay.disable();
    this.gcObserver.disconnect();
  }
}

interface ProcStatus {
  VmRSS?: number;
  VmSize?: number;
  VmData?: number;
}

/** VmRSS, VmSize, VmData of /proc/self/status in bytes; undefined off Linux. */
function procStatus(): ProcStatus | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/status', 'utf8');
  } catch {
    return undefined;
  }
  const bytes = (name: keyof ProcStatus) => {
    const kb = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  };
  return { VmRSS: bytes('VmRSS'), VmSize: bytes('VmSize'), VmData: bytes('VmData') };
}

function openFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length - 1; // less the one readdir used
  } catch {
    return undefined;
  }
}

function maxOpenFiles(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/ {2,}/)[1];
    return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}
