/** Hands a text to the browser as a file download. */
export function downloadText(text: string, name: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // Revoked a moment later: some browsers still read the blob after click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
