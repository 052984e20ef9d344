// OAuth 2.0 Form Post Response Mode: submit the response to the client right away.
document.getElementById("form-post").submit();
