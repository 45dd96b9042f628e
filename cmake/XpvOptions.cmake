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
