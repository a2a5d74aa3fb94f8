# INTERFACE target carrying the project's warning flags (like ccache's standard_warnings).
add_library(coral_warnings INTERFACE)
target_compile_options(coral_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
  -Wcast-align -Wunused -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
  -Wno-missing-field-initializers)  # designated initializers leave the rest defaulted on purpose
if(CORAL_WERROR)
  target_compile_options(coral_warnings INTERFACE -Werror)
endif()
