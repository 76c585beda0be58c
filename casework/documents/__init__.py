"""Documents kept on a case: encrypted with the case's data key, chunk by chunk."""
