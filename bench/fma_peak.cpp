// FMA peak of this machine: each thread runs 16 independent chains of fp32 fused
// multiply-adds on the widest vectors -march=native allows (AVX-512: 16 lanes; AVX2: 8),
// enough chains to cover FMA latency on two pipes. Prints JSON with GFLOP/s
// (2 FLOPs per lane per FMA), the best of several repeats.
// Build: g++ -O3 -march=native -pthread bench/fma_peak.cpp -o bench/results/fma_peak
#include <immintrin.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#if defined(__AVX512F__)
using vec = __m512;
static constexpr int kLanes = 16;
static inline vec set1(float x) { return _mm512_set1_ps(x); }
static inline vec fma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
static inline float sum(vec a) { return _mm512_reduce_add_ps(a); }
#else
using vec = __m256;
static constexpr int kLanes = 8;
static inline vec set1(float x) { return _mm256_set1_ps(x); }
static inline vec fma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
static inline float sum(vec a) {
  alignas(32) float t[8];
  _mm256_store_ps(t, a);
  float s = 0;
  for (float x : t) s += x;
  return s;
}
#endif

static constexpr int kChains = 16;

static float run(long iters, float seed) {
  vec acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = set1(seed + i);
  const vec a = set1(0.999999f), b = set1(1e-7f);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < kChains; ++i) acc[i] = fma(acc[i], a, b);
  }
  float s = 0;
  for (int i = 0; i < kChains; ++i) s += sum(acc[i]);
  return s;
}

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  const long iters = argc > 2 ? std::atol(argv[2]) : 50'000'000L;
  const int repeats = 5;
  double best = 0;
  volatile float sink = 0;
  for (int r = 0; r < repeats; ++r) {
    std::vector<std::thread> pool;
    std::vector<float> out(threads);
    const auto t0 = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { out[t] = run(iters, 1.0f + t); });
    for (auto& th : pool) th.join();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (float x : out) sink = sink + x;
    const double gflops = 2.0 * kLanes * kChains * double(iters) * threads / s / 1e9;
    if (gflops > best) best = gflops;
  }
  std::printf("{\"side\": \"c++\", \"bench\": \"fma_peak\", \"threads\": %d, \"lanes\": %d, \"fma_gflop_per_s\": %.1f}\n",
              threads, kLanes, best);
  return 0;
}
