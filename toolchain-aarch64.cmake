# Cross toolchain for the hypervisor image: names the compiler and nothing else.
# Prefers the Arm GNU Toolchain (aarch64-none-elf-), then Debian's
# aarch64-linux-gnu-; -DCROSS_COMPILE=<prefix> overrides both.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

if(NOT CROSS_COMPILE)
    find_program(_passage_none_elf aarch64-none-elf-g++)
    if(_passage_none_elf)
        set(CROSS_COMPILE aarch64-none-elf-)
    else()
        set(CROSS_COMPILE aarch64-linux-gnu-)
    endif()
endif()
set(CROSS_COMPILE "${CROSS_COMPILE}" CACHE STRING "cross toolchain prefix")

find_program(CMAKE_C_COMPILER ${CROSS_COMPILE}gcc)
find_program(CMAKE_CXX_COMPILER ${CROSS_COMPILE}g++)
find_program(CMAKE_OBJCOPY ${CROSS_COMPILE}objcopy)
if(NOT CMAKE_C_COMPILER OR NOT CMAKE_CXX_COMPILER OR NOT CMAKE_OBJCOPY)
    message(FATAL_ERROR "no ${CROSS_COMPILE}gcc/g++/objcopy found: install g++-aarch64-linux-gnu "
                        "or pass -DCROSS_COMPILE=<prefix>")
endif()
set(CMAKE_ASM_COMPILER ${CMAKE_C_COMPILER})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
