# xpv_check_test(NAME SOURCES... LIBS... LABELS...): one Check executable,
# registered in ctest with its labels. Label `unit` is the fast tier.
function(xpv_check_test name)
	cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
	add_executable(${name} ${T_SOURCES})
	target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CHECK)
	target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
	add_test(NAME ${name} COMMAND ${name})
	if(NOT T_TIMEOUT)
		set(T_TIMEOUT 120)
	endif()
	# CK_FORK=no keeps one process per suite so sanitizers see everything.
	set(_env "CK_FORK=no")
	if(XPV_COVERAGE)
		# One raw profile per process, merged by scripts/coverage-report.sh.
		list(APPEND _env "LLVM_PROFILE_FILE=${CMAKE_CURRENT_BINARY_DIR}/${name}-%p.profraw")
	endif()
	set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}"
		TIMEOUT ${T_TIMEOUT} ENVIRONMENT "${_env}")
endfunction()
