# Compiler flags shared by every target: warnings, assertion-keeping build
# type, sanitizers and coverage. Presets set XPV_SANITIZE / XPV_COVERAGE.
set(XPV_SANITIZE "" CACHE STRING "Sanitizers to enable, e.g. address;undefined")
option(XPV_COVERAGE "Build with clang source-based coverage" OFF)

# RelWithAssert: optimised, debug info, assertions kept (no -DNDEBUG).
set(CMAKE_C_FLAGS_RELWITHASSERT "-O2 -g" CACHE STRING "" FORCE)
if(NOT CMAKE_BUILD_TYPE)
	set(CMAKE_BUILD_TYPE RelWithAssert)
endif()

add_compile_options(-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
	-Wmissing-prototypes -Wno-unused-parameter -fno-common)

if(XPV_SANITIZE)
	list(JOIN XPV_SANITIZE "," _xpv_san)
	add_compile_options(-fsanitize=${_xpv_san} -fno-sanitize-recover=all
		-fno-omit-frame-pointer)
	add_link_options(-fsanitize=${_xpv_san})
endif()

if(XPV_COVERAGE)
	if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
		message(FATAL_ERROR "XPV_COVERAGE needs clang (source-based coverage)")
	endif()
	add_compile_options(-fprofile-instr-generate -fcoverage-mapping)
	add_link_options(-fprofile-instr-generate)
endif()

# Fuzzing engine for the targets in fuzz/ (fuzz/README.md). Empty: every
# target is linked with the plain replay driver and ctest replays the
# corpus. libfuzzer: clang's -fsanitize=fuzzer. afl: AFL++'s afl-cc with
# libAFLDriver.a, so the same LLVMFuzzerTestOneInput runs under afl-fuzz.
set(XPV_FUZZ_ENGINE "" CACHE STRING "Fuzzing engine: empty, libfuzzer or afl")
set_property(CACHE XPV_FUZZ_ENGINE PROPERTY STRINGS "" libfuzzer afl)

if(XPV_FUZZ_ENGINE STREQUAL "libfuzzer")
	if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
		message(FATAL_ERROR "XPV_FUZZ_ENGINE=libfuzzer needs clang "
			"(the fuzz preset uses clang-14)")
	endif()
	# Coverage feedback for every library the targets link; only the
	# targets themselves get libFuzzer's main (fuzz/CMakeLists.txt).
	add_compile_options(-fsanitize=fuzzer-no-link)
elseif(XPV_FUZZ_ENGINE STREQUAL "afl")
	get_filename_component(_xpv_cc "${CMAKE_C_COMPILER}" NAME)
	if(NOT _xpv_cc MATCHES "^afl-")
		message(FATAL_ERROR "XPV_FUZZ_ENGINE=afl needs an AFL++ compiler "
			"(CMAKE_C_COMPILER=afl-clang-fast), not ${_xpv_cc}")
	endif()
	find_file(XPV_AFL_DRIVER libAFLDriver.a
		PATHS /usr/lib/afl /usr/local/lib/afl NO_DEFAULT_PATH)
	if(NOT XPV_AFL_DRIVER)
		message(FATAL_ERROR "libAFLDriver.a not found in /usr/lib/afl "
			"or /usr/local/lib/afl: install Debian's afl++ "
			"(scripts/deps.sh)")
	endif()
elseif(NOT XPV_FUZZ_ENGINE STREQUAL "")
	message(FATAL_ERROR "XPV_FUZZ_ENGINE='${XPV_FUZZ_ENGINE}': want empty, "
		"libfuzzer or afl")
endif()
