enum KeygateServerPlaceholder {}
