enum KeygateFakeUpstreamPlaceholder {}
