# The README's library example is core/examples/accept_loop.cpp, which the build compiles:
# this test fails when the two differ, so the README shows code that builds.
#   cmake -DREADME=<README.md> -DEXAMPLE=<accept_loop.cpp> -P readme_example.cmake
file(READ ${README} readme)
file(READ ${EXAMPLE} example)
# The example file starts with two comment lines the README leaves out.
string(REGEX REPLACE "^//[^\n]*\n//[^\n]*\n" "" example "${example}")
string(FIND "${readme}" "```cpp\n${example}```" at)
if(at EQUAL -1)
  message(FATAL_ERROR "README.md's library example differs from ${EXAMPLE}: copy the file's code (without its two comment lines) into the README's ```cpp block")
endif()
