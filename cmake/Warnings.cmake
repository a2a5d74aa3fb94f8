# INTERFACE target carrying the project's warning flags (like ccache's standard_warnings).
add_library(coral_warnings INTERFACE)
target_compile_options(coral_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
  -Wcast-align -Wunused -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
  -Wno-missing-field-initializers)  # designated initializers leave the rest defaulted on purpose
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 reports false positives for std::string concatenation at -O3 (GCC bug 105329).
  target_compile_options(coral_warnings INTERFACE -Wno-restrict)
endif()
if(CORAL_WERROR)
  target_compile_options(coral_warnings INTERFACE -Werror)
endif()
