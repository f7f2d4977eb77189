add_library(passage_flags INTERFACE)
target_compile_options(passage_flags INTERFACE
    -Wall -Wextra -Wshadow -Wno-missing-field-initializers
    $<$<COMPILE_LANGUAGE:CXX>:-fno-exceptions -fno-rtti>)

if(CMAKE_CROSSCOMPILING)
    # EL2: no libc, no FP/SIMD in our own code (guest FP state is never
    # touched), no unaligned accesses (Device memory and MMU-off faults),
    # position independent so the image runs where it is loaded.
    target_compile_options(passage_flags INTERFACE
        -ffreestanding -nostdlib -mgeneral-regs-only -mstrict-align -mno-outline-atomics
        -fPIE -fno-plt -fno-stack-protector -fno-asynchronous-unwind-tables
        -fno-unwind-tables -ffunction-sections -fdata-sections -O2 -g
        $<$<COMPILE_LANGUAGE:CXX>:-fno-threadsafe-statics -fno-use-cxa-atexit>
        $<$<COMPILE_LANGUAGE:CXX>:-include ${CMAKE_SOURCE_DIR}/include/passage/symbol_visibility.h>)
    target_compile_definitions(passage_flags INTERFACE PASSAGE_TARGET=1)
else()
    option(PASSAGE_SANITIZE "build host code with ASan and UBSan" ON)
    option(PASSAGE_FUZZ "build the libFuzzer fuzzers (clang) instead of the unit tests" OFF)
    target_compile_options(passage_flags INTERFACE -g)
    if(PASSAGE_FUZZ)
        # Every file instrumented for coverage and checked by ASan/UBSan; the
        # fuzzers link libFuzzer's main (tests/fuzz).
        target_compile_options(passage_flags INTERFACE -O1 -fsanitize=fuzzer-no-link,address,undefined
            -fno-sanitize-recover=all -fno-omit-frame-pointer)
        target_link_options(passage_flags INTERFACE -fsanitize=address,undefined)
    elseif(PASSAGE_SANITIZE)
        target_compile_options(passage_flags INTERFACE -O1
            -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
        target_link_options(passage_flags INTERFACE -fsanitize=address,undefined)
    endif()
    target_compile_definitions(passage_flags INTERFACE PASSAGE_HOST=1)
endif()
