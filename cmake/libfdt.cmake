# libfdt: the host's Debian libfdt-dev in the host tree; for the image,
# Debian's arm64 libfdt.a, which conflicts with the host package, so
# scripts/deps.sh unpacks it under build/deps/libfdt-arm64 (or pass
# -DLIBFDT_ROOT=<dir with include/ and lib/>).
add_library(libfdt INTERFACE)
if(CMAKE_CROSSCOMPILING)
    set(LIBFDT_ROOT "${CMAKE_SOURCE_DIR}/build/deps/libfdt-arm64/usr" CACHE PATH "arm64 libfdt root")
    find_path(LIBFDT_INCLUDE libfdt.h PATHS ${LIBFDT_ROOT}/include NO_DEFAULT_PATH)
    find_library(LIBFDT_LIBRARY NAMES libfdt.a
                 PATHS ${LIBFDT_ROOT}/lib ${LIBFDT_ROOT}/lib/aarch64-linux-gnu NO_DEFAULT_PATH)
else()
    find_path(LIBFDT_INCLUDE libfdt.h)
    find_library(LIBFDT_LIBRARY NAMES fdt)
endif()
if(NOT LIBFDT_INCLUDE OR NOT LIBFDT_LIBRARY)
    message(FATAL_ERROR "libfdt not found (LIBFDT_ROOT=${LIBFDT_ROOT}): run scripts/deps.sh")
endif()
target_include_directories(libfdt SYSTEM INTERFACE ${LIBFDT_INCLUDE})
target_link_libraries(libfdt INTERFACE ${LIBFDT_LIBRARY})
message(STATUS "libfdt: ${LIBFDT_LIBRARY}")
