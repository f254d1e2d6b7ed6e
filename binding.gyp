{
  "variables": {
    "mpi_compile%": "<!(sh -c 'mpicc --showme:compile 2>/dev/null || true')"
  },
  "targets": [
    {
      "target_name": "cola_native",
      "sources": [
        "native/addon.cc",
        "native/alloc.cc",
        "native/convert.cc",
        "native/copy.cc",
        "native/matmul.cc",
        "native/gemm.cc",
        "native/quant_matmul.cc",
        "native/quantize.cc",
        "native/elementwise.cc",
        "native/softmax.cc",
        "native/norm.cc",
        "native/rope.cc",
        "native/attention.cc",
        "native/embedding.cc",
        "native/cross_entropy.cc",
        "native/adamw.cc",
        "native/cpu.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++14"],
      "cflags_cc": ["-std=c++17", "-O3", "-mavx2", "-mfma", "-fno-math-errno", "-fno-trapping-math", "-fopenmp", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "ldflags": ["-fopenmp"],
      "libraries": ["-ldnnl"]
    }
  ],
  "conditions": [
    [
      "mpi_compile!=''",
      {
        "targets": [
          {
            "target_name": "cola_mpi",
            "sources": ["native/mpi.cc"],
            "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
            "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "OMPI_SKIP_MPICXX=1"],
            "cflags!": ["-fno-exceptions"],
            "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++14"],
            "cflags_cc": ["-std=c++17", "-O2", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter", "<!@(mpicc --showme:compile)"],
            "ldflags": ["<!@(mpicc --showme:link)"],
            "libraries": ["<!@(mpicc --showme:link)", "-ldl"]
          }
        ]
      }
    ]
  ]
}
