#pragma once
// The mqperf runs. Each always returns a Summary — also when the broker is unreachable or
// goes away mid-run (then it counts only what was acknowledged / received and carries the first
// error) — so the caller can print it and choose the exit code with exit_code().
#include "perf/mqperf/options.h"
#include "perf/mqperf/report.h"

namespace tidemq::perf {

Summary run_produce(const PerfOptions& options);
Summary run_consume(const PerfOptions& options);
Summary run_e2e(const PerfOptions& options);
Summary run_txn(const PerfOptions& options);  // txn_mode.cc

// Called from the SIGINT/SIGTERM handler (async-signal-safe): the running mode stops sending,
// waits for what is in flight and returns its summary.
void request_interrupt();

}  // namespace tidemq::perf
