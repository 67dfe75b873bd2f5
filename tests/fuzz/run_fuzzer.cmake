# Runs one libFuzzer executable for ctest (cmake -P). Variables:
#   FUZZER  the executable;  WORK  a scratch directory, emptied first;  SEEDS  a source directory;
#   MODE    short: fuzz for SECONDS from the seeds (read only: new inputs go to WORK/corpus);
#           replay: run every file in SEEDS once (the kept crashing inputs).
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/corpus)
if(MODE STREQUAL "short")
  set(args -max_total_time=${SECONDS} -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
           -artifact_prefix=${WORK}/ ${WORK}/corpus ${SEEDS})
elseif(MODE STREQUAL "replay")
  file(GLOB inputs LIST_DIRECTORIES false ${SEEDS}/*)
  list(FILTER inputs EXCLUDE REGEX "/README[^/]*$")
  if(NOT inputs)
    # Without file arguments the fuzzer would start fuzzing instead of replaying.
    message(STATUS "no inputs in ${SEEDS}")
    return()
  endif()
  set(args -timeout=10 -rss_limit_mb=2048 -artifact_prefix=${WORK}/ ${inputs})
else()
  message(FATAL_ERROR "MODE must be short or replay")
endif()
execute_process(COMMAND ${FUZZER} ${args} WORKING_DIRECTORY ${WORK} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${FUZZER} failed (${rc}); crashing input, if any, in ${WORK}")
endif()
