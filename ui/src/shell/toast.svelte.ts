// One short message at a time at the bottom of the window ("Saved").
export const toastState = $state<{ text: string | null; id: number }>({ text: null, id: 0 });

export function toast(text: string, ms = 2600): void {
  const id = ++toastState.id;
  toastState.text = text;
  setTimeout(() => {
    if (toastState.id === id) toastState.text = null;
  }, ms);
}
