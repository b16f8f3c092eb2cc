// TcpAddress to and from "host:port" text, with IPv6 hosts in brackets ("[fd00::1]:4143").
import { InvalidAddressError } from './errors.ts';
import type { TcpAddress } from './gen/net.ts';
import { ipAddressFromString, ipAddressToString } from './ip.ts';

/** Builds a TcpAddress from an IP literal and a port. */
export function tcpAddress(ip: string, port: number): TcpAddress {
  return { ip: ipAddressFromString(ip), port: checkPort(port, `${ip}:${port}`) };
}

/** Parses "10.0.0.1:8080" or "[fd00::1]:8080"; the host must be an IP literal. */
export function tcpAddressFromString(text: string): TcpAddress {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') {
      throw new InvalidAddressError(`"${text}" is not "[ipv6]:port"`);
    }
    host = text.slice(1, close);
    portText = text.slice(close + 2);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) throw new InvalidAddressError(`"${text}" has no ":port"`);
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) throw new InvalidAddressError(`"${text}": an IPv6 host must be in brackets`);
  }
  if (!/^\d{1,5}$/.test(portText)) throw new InvalidAddressError(`"${text}" has port "${portText}", expected 0..65535`);
  let ip;
  try {
    ip = ipAddressFromString(host);
  } catch {
    throw new InvalidAddressError(`"${text}" has host "${host}", expected an IP address`);
  }
  return { ip, port: checkPort(Number(portText), text) };
}

/** Formats a TcpAddress as "10.0.0.1:8080" or "[fd00::1]:8080". */
export function tcpAddressToString(address: TcpAddress): string {
  if (address.ip === undefined) throw new InvalidAddressError('TcpAddress has no ip');
  const host = ipAddressToString(address.ip);
  const port = checkPort(address.port, `TcpAddress ${host} port ${address.port}`);
  return address.ip.ip?.$case === 'ipv6' ? `[${host}]:${port}` : `${host}:${port}`;
}

function checkPort(port: number, context: string): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidAddressError(`${context}: port ${port} is outside 0..65535`);
  }
  return port;
}
