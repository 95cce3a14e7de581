# cmake -P script: cmake --install BUILD_DIR into a fresh prefix, configure + build the example
# consumer project with find_package(tidemq) against that prefix only, and run it.
foreach(v BUILD_DIR EXAMPLE_DIR WORK_DIR CMAKE_COMMAND_PATH)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "install_test.cmake: ${v} not set")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
set(example_build ${WORK_DIR}/example-build)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

# The client component: library, headers, package files (the binaries need not be built).
run(${CMAKE_COMMAND_PATH} --install ${BUILD_DIR} --prefix ${prefix} --component client)
foreach(f include/tidemq/producer.h include/tidemq/common/status.h include/tidemq/common/check.h)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "missing after install: ${f}")
  endif()
endforeach()

run(${CMAKE_COMMAND_PATH} -S ${EXAMPLE_DIR} -B ${example_build}
  -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND_PATH} --build ${example_build})
run(${example_build}/find_package_example)
if(NOT last_output MATCHES "tidemq ok 00000000000004d2")
  message(FATAL_ERROR "unexpected output from the example: ${last_output}")
endif()
message(STATUS "install + find_package(tidemq) + link + run: ok")
