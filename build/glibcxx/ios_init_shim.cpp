// The one libstdc++ function that TorchSharp 0.107's native library needs from GCC 13
// (GLIBCXX_3.4.32) and that older libstdc++ builds (GCC 12: Debian 12, Ubuntu 22.04) lack.
// GCC 13 calls it from every translation unit that includes <iostream> to make sure the
// standard streams are constructed; older libstdc++ does the same with a static
// std::ios_base::Init object, which is what this shim provides.
#include <ios>

namespace std {
void ios_base_library_init() {
    static ios_base::Init init;
}
}  // namespace std
