// The one oneDNN CPU engine and stream shared by every primitive in the addon.
#pragma once

#include <dnnl.hpp>

namespace cola {

inline dnnl::engine& cpuEngine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

inline dnnl::stream& cpuStream() {
  static dnnl::stream s(cpuEngine());
  return s;
}

}  // namespace cola
