// The verification form's print button. A file rather than an onclick attribute: the
// pages' Content-Security-Policy runs no inline script.
document.getElementById('print-form')?.addEventListener('click', () => window.print());
