#pragma once
// Clang thread-safety annotations (LevelDB port/thread_annotations.h); no-ops elsewhere.
#if defined(__clang__)
#define TIDEMQ_TSA(x) __attribute__((x))
#else
#define TIDEMQ_TSA(x)
#endif

#ifndef GUARDED_BY
#define GUARDED_BY(x) TIDEMQ_TSA(guarded_by(x))
#endif
#ifndef PT_GUARDED_BY
#define PT_GUARDED_BY(x) TIDEMQ_TSA(pt_guarded_by(x))
#endif
#ifndef REQUIRES
#define REQUIRES(...) TIDEMQ_TSA(requires_capability(__VA_ARGS__))
#endif
#ifndef EXCLUDES
#define EXCLUDES(...) TIDEMQ_TSA(locks_excluded(__VA_ARGS__))
#endif
