import { setFlagsFromString } from 'node:v8';

/**
 * V8 settings of the gateway process, applied before the application's modules load (main.ts imports this first).
 *
 * `--no-allocation-site-pretenuring`: V8 may decide at run time that an allocation site's objects live long and
 * allocate them in the old generation from then on. In the gateway such a decision keeps requests' young garbage (what
 * a pretenured container points to) alive through scavenges into the old generation, and it is made or not by chance,
 * per process: of one build serving the same requests, some gateway processes spent 20–35 % more CPU per request for
 * the rest of their life (one traced promoted 2.5× the bytes of its twin). Measured on 2026-12-07 (docs/benchmarks.md,
 * twelfth session), hour × month cost the gateway 0.67–0.89 ms of CPU per request in 16 processes with this flag (1
 * above 0.88 ms) and 0.69–0.97 ms in 22 without (7 above 0.88 ms; medians 0.77 and 0.80 ms). Node refuses the flag in
 * `NODE_OPTIONS`, so the process sets it itself; it changes where V8 allocates, never what the program computes.
 */
setFlagsFromString('--no-allocation-site-pretenuring');
