/**
 * The page's settings, kept in the browser: the API base URL and the upload
 * door in localStorage, the token in sessionStorage so it is gone when the
 * tab closes but survives a reload (which a resumed tus upload needs).
 */
export type Door = 'tus' | 'xhr'

const API_BASE_KEY = 'media-gateway-demo:api-base'
const DOOR_KEY = 'media-gateway-demo:door'
const TOKEN_KEY = 'media-gateway-demo:token'

export interface SettingsForm {
  apiBase: HTMLInputElement
  token: HTMLInputElement
  doors: HTMLInputElement[]
}

/** Fills the form from storage and saves each field as it changes. */
export function bindSettings(form: SettingsForm, onDoorChange: (door: Door) => void) {
  form.apiBase.value = localStorage.getItem(API_BASE_KEY) ?? ''
  form.token.value = sessionStorage.getItem(TOKEN_KEY) ?? ''
  const savedDoor = localStorage.getItem(DOOR_KEY) === 'xhr' ? 'xhr' : 'tus'
  for (const radio of form.doors) {
    radio.checked = radio.value === savedDoor
  }

  form.apiBase.addEventListener('input', () => localStorage.setItem(API_BASE_KEY, form.apiBase.value.trim()))
  form.token.addEventListener('input', () => sessionStorage.setItem(TOKEN_KEY, form.token.value.trim()))
  for (const radio of form.doors) {
    radio.addEventListener('change', () => {
      const door: Door = radio.value === 'xhr' ? 'xhr' : 'tus'
      localStorage.setItem(DOOR_KEY, door)
      onDoorChange(door)
    })
  }
}

/** Reads the current settings. An empty API base means this page's own origin. */
export function readSettings(form: SettingsForm) {
  const typed = form.apiBase.value.trim().replace(/\/+$/, '')
  const door: Door = form.doors.find((radio) => radio.checked)?.value === 'xhr' ? 'xhr' : 'tus'

  return { apiBase: typed || window.location.origin, token: form.token.value.trim(), door }
}
