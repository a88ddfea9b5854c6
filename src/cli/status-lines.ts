// A terminal's live status: on a TTY the block of lines is redrawn in place; elsewhere (a log, a test
// reading the pipe) each line is printed again only when its text changes.
export interface StatusOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

export class StatusLines {
  private shown: string[] = [];

  constructor(private readonly out: StatusOutput) {}

  show(lines: string[]): void {
    if (this.out.isTTY) {
      // Back to the block's first line, then each line over its old self; lines left over are cleared.
      let text = this.shown.length ? `\x1b[${this.shown.length}F` : '';
      for (let i = 0; i < Math.max(lines.length, this.shown.length); i++) text += `\x1b[2K${lines[i] ?? ''}\n`;
      if (this.shown.length > lines.length) text += `\x1b[${this.shown.length - lines.length}F`;
      this.out.write(text);
    } else {
      const changed = lines.filter((line, i) => line !== this.shown[i]);
      if (changed.length) this.out.write(`${changed.join('\n')}\n`);
    }
    this.shown = lines;
  }
}
