# -DCORAL_SANITIZE=address,undefined adds the sanitizers to every target.
if(CORAL_SANITIZE)
  add_compile_options(-fsanitize=${CORAL_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${CORAL_SANITIZE})
endif()
