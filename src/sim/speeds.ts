/** How fast virtual time may run against real time: the Speed menu's choices, which lessons may also set. */
export const SPEEDS: readonly number[] = [0.1, 0.25, 0.5, 1, 2, 5, 10];
